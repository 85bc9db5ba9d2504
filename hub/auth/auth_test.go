package auth

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$") {
		t.Errorf("hash %q is not argon2id PHC", h)
	}
	if !CheckPassword(h, "correct horse battery") {
		t.Error("right password refused")
	}
	if CheckPassword(h, "correct horse batterz") {
		t.Error("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: salt missing")
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("short password accepted")
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2id$v=19$m=9999999999,t=1,p=1$AA$AA", "$bcrypt$x$y$z$w", h[:len(h)-4]} {
		if CheckPassword(bad, "correct horse battery") {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func TestSecrets(t *testing.T) {
	a, b := Secret(32), Secret(32)
	if a == b || len(a) != 43 {
		t.Errorf("secrets %q %q", a, b)
	}
	if string(HashSecret(a)) == string(HashSecret(b)) || len(HashSecret(a)) != 32 {
		t.Error("secret hashes collide or have the wrong size")
	}
}
