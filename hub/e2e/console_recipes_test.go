//go:build linux

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tierline/tierline/shared/orgdoc"
)

// TestRecipesOnDevicePageAndGetHelp follows the organisation's signed
// recipes to the people who use them, with a real hub, a real agent and
// Debian's chromium: the device page shows the recipe the agent accepted
// (version, signing key) and the one it refused with the agent's reason;
// a knowledge-base article links the Tier 0 recipe as its fix and the
// console's article page says it is a signed recipe; on the Get help page
// the recipe is offered like a built-in fix, the article's button runs it,
// and it ran (the probe it starts logged it).
func TestRecipesOnDevicePageAndGetHelp(t *testing.T) {
	needSelfHelpChromium(t)
	h := startHub(t)
	const adminPW = "recipes console pw 1"
	must(t, adminPW+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "boss", "--role", "admin")
	keys, work := t.TempDir(), t.TempDir()
	org, evil := filepath.Join(keys, "org"), filepath.Join(keys, "evil")
	must(t, "", "tierline-hub", "recipe", "keygen", "--out", org)
	must(t, "", "tierline-hub", "recipe", "keygen", "--out", evil)
	orgPub, err := orgdoc.ReadPublicKey(filepath.Join(org, orgdoc.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	orgID := orgdoc.KeyID(orgPub)
	probe, probeLog := filepath.Join(work, "probe"), filepath.Join(work, "probe.log")
	if err := os.WriteFile(probe, []byte("#!/bin/sh\nprintf '%s\\n' \"$*\" >> "+probeLog+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	recipeDoc := func(id, title string, tier int) string {
		return fmt.Sprintf(`{"id":%q,"version":1,"title":%q,"tier":%d,"oses":["linux"],"timeout_sec":30,
			"user_text":"Puts the company's VPN profile back as the help desk set it up.","steps":[{"argv":[%q,%q]}]}`, id, title, tier, probe, id)
	}
	good := signRecipe(t, work, filepath.Join(org, orgdoc.PrivateKeyFile), "good", recipeDoc("reset-vpn-profile", "Reset the VPN profile", 0))
	foreign := signRecipe(t, work, filepath.Join(evil, orgdoc.PrivateKeyFile), "foreign", recipeDoc("wipe-vpn-profile", "Wipe the VPN profile", 0))
	for name, doc := range map[string][]byte{"good": good, "foreign": foreign} {
		if code, msg := h.publishRecipe(doc, "default"); code != http.StatusCreated {
			t.Fatalf("publish %s: %d %s", name, code, msg)
		}
	}
	artID := publishArticle(t, h, `{"title":"Zorblax VPN will not connect","body":"When the Zorblax VPN will not connect, reset its profile.","checks":[],"fixes":["reset-vpn-profile"]}`)

	a := enroll(t, h.tokenCreate("--recipe-key", filepath.Join(org, orgdoc.PublicKeyFile)))
	a.run()
	var list recipeListing
	eventually(t, "the agent's report on its recipes", 60*time.Second, func() bool {
		h.get("/api/v1/recipes", &list)
		n, _ := list.find("reset-vpn-profile")
		_, why := list.find("wipe-vpn-profile")
		return n == 1 && why != ""
	})

	// The same over the API.
	var dr struct {
		Reported bool   `json:"reported"`
		Key      string `json:"key"`
		Accepted []struct {
			ID      string `json:"id"`
			Version int64  `json:"version"`
		} `json:"accepted"`
		Refused []struct {
			ID, Reason string
		} `json:"refused"`
	}
	if code := h.get("/api/v1/devices/"+a.id+"/recipes", &dr); code != http.StatusOK || !dr.Reported || dr.Key != orgID ||
		len(dr.Accepted) != 1 || dr.Accepted[0].ID != "reset-vpn-profile" || dr.Accepted[0].Version != 1 ||
		len(dr.Refused) != 1 || dr.Refused[0].ID != "wipe-vpn-profile" || !strings.Contains(dr.Refused[0].Reason, "not by the key pinned") {
		t.Fatalf("GET devices/{id}/recipes: %d %+v", code, dr)
	}

	// The device page: accepted with version and signer, refused with why.
	b := newConsoleBrowser(t)
	b.login(h, "boss", adminPW)
	b.open(h, "/devices/"+a.id, "#device-recipes")
	b.waitText("#device-recipes", "signing key "+orgID)
	b.waitText(`#device-recipes-accepted [data-recipe="reset-vpn-profile"]`, "accepted reset-vpn-profile v1, signed by "+orgID)
	b.waitText(`#device-recipes-refused [data-recipe="wipe-vpn-profile"]`, "refused wipe-vpn-profile v1:")
	b.waitText(`#device-recipes-refused [data-recipe="wipe-vpn-profile"]`, "not by the key pinned on this device ("+orgID+")")
	if s := b.text("#device-recipes-accepted"); strings.Contains(s, "wipe-vpn-profile") {
		t.Errorf("the refused recipe is listed as accepted: %q", s)
	}
	b.noXSS("the device page")
	b.do("phone width", chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile))
	b.open(h, "/devices/"+a.id, "#device-recipes")
	b.fitsWidth("the device page with recipes")
	b.shot("device-recipes")
	b.do("desktop width", chromedp.EmulateViewport(1280, 900))

	// The article's page names its fix as a signed recipe.
	b.open(h, "/kb/"+artID, "#kb-fixes")
	b.waitText(`#kb-fixes [data-fix="reset-vpn-profile"]`, "Reset the VPN profile")
	b.waitText(`#kb-fixes [data-fix="reset-vpn-profile"]`, "recipe v1")
	b.waitText(`#kb-fixes [data-fix="reset-vpn-profile"]`, "signed by "+orgID)
	b.waitText(`#kb-fixes [data-fix="reset-vpn-profile"]`, "offered to users in Get help")

	// Get help: the Tier 0 recipe among the fixes, and the article's
	// button runs it.
	_, link := startGetHelp(t, a.state)
	ctx := selfHelpBrowser(t)
	if err := uiDo(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("problem"))); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	pageWait(t, ctx, "the recipe offered like a built-in fix", `document.querySelector('#fixes [data-fix="reset-vpn-profile"] button.run') !== null`)
	if s := pageText(t, ctx, `#fixes [data-fix="reset-vpn-profile"]`); !strings.Contains(s, "Reset the VPN profile") || !strings.Contains(s, "Puts the company's VPN profile back") {
		t.Errorf("the recipe in the fixes shows %q", s)
	}
	if s := pageText(t, ctx, "#fixes"); strings.Contains(s, "Wipe the VPN profile") {
		t.Errorf("the refused recipe is offered: %q", s)
	}
	if err := uiDo(ctx, chromedp.SendKeys(chromedp.ID("problem"), "the zorblax vpn will not connect")); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the article", `document.querySelector('#articles [data-article=`+jsQuote(artID)+`]') !== null`)
	if err := uiDo(ctx, chromedp.Click(chromedp.CSS(`#articles [data-article] summary`))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the article's fix button", `(function(){var b=document.querySelector('#articles button[data-article-fix="reset-vpn-profile"]');`+
		`return !!b && !b.disabled && b.textContent === "Run Reset the VPN profile"})()`)
	selfHelpShot(t, ctx, selfHelpShotDir(t), "recipe-article")
	if err := uiDo(ctx, chromedp.Click(chromedp.CSS(`#articles button[data-article-fix="reset-vpn-profile"]`))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the recipe's result", `document.querySelector('#fixes [data-fix="reset-vpn-profile"] .result[data-outcome]') !== null`)
	outcome, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#fixes [data-fix="reset-vpn-profile"] .result').getAttribute("data-outcome")`))
	if err != nil || outcome != "succeeded" {
		t.Errorf("the recipe's outcome on the page: %q %v (%s)", outcome, err, pageText(t, ctx, `#fixes [data-fix="reset-vpn-profile"] .result`))
	}
	if logged, _ := os.ReadFile(probeLog); string(logged) != "reset-vpn-profile\n" {
		t.Errorf("the probe logged %q; want the recipe's one run", logged)
	}
}
