package fixes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// homeUser is the user whose own folders empty-trash and
// clear-user-caches act on.
type homeUser struct {
	Name string
	Home string
	// UID is the numeric user id on Unix, -1 on Windows.
	UID int
	// SID is the security identifier on Windows.
	SID string
	// How says how the agent chose this user, for the output.
	How string
}

// PurgeStats is what emptying one folder did.
type PurgeStats struct {
	Removed      int   // files, links and other non-directories removed
	Dirs         int   // directories removed
	BytesFreed   int64 // the disk blocks of removed files no other name holds
	SkippedInUse int
	Failed       int
	// OtherFS counts directories left alone because another filesystem is
	// mounted there.
	OtherFS int
}

func (s *PurgeStats) add(o PurgeStats) {
	s.Removed += o.Removed
	s.Dirs += o.Dirs
	s.BytesFreed += o.BytesFreed
	s.SkippedInUse += o.SkippedInUse
	s.Failed += o.Failed
	s.OtherFS += o.OtherFS
}

// errLinkRefused: a folder the fix would empty (or one on the way to it)
// is a symlink or not a directory; it is left alone, never followed.
var errLinkRefused = errors.New("is a symbolic link or not a folder; left alone (it is never followed)")

// userFolders are the folders, relative to a user's home, that a fix
// empties on goos; each is a list of path elements, where "*" stands for
// every folder at that level (a browser's profiles). Windows' recycle bin
// is not under the home: see recycleBins.
func userFolders(goos, action string) [][]string {
	switch action {
	case ActEmptyTrash:
		switch goos {
		case "darwin":
			return [][]string{{".Trash"}}
		case "windows":
			return nil
		default:
			return [][]string{{".local", "share", "Trash"}}
		}
	case ActClearUserCaches:
		switch goos {
		case "darwin":
			return [][]string{{"Library", "Caches"}}
		case "windows":
			local := []string{"AppData", "Local"}
			j := func(rest ...string) []string { return append(append([]string{}, local...), rest...) }
			var out [][]string
			out = append(out, j("Temp"))
			for _, b := range [][]string{{"Google", "Chrome", "User Data"}, {"Microsoft", "Edge", "User Data"}} {
				for _, c := range []string{"Cache", "Code Cache", "GPUCache"} {
					out = append(out, j(append(append([]string{}, b...), "*", c)...))
				}
			}
			return append(out, j("Mozilla", "Firefox", "Profiles", "*", "cache2"))
		default:
			return [][]string{{".cache"}}
		}
	}
	return nil
}

// recycleBins are a Windows user's recycle bin folders: $Recycle.Bin\SID
// on each drive.
func recycleBins(sid string, drives []string) []string {
	var out []string
	for _, d := range drives {
		out = append(out, d+`\$Recycle.Bin\`+sid)
	}
	return out
}

// lookupHomeUser finds a local account by name, or by uid when name is
// empty (Unix).
func lookupHomeUser(name string, uid int) (homeUser, error) {
	var u *user.User
	var err error
	if name != "" {
		u, err = user.Lookup(name)
	} else {
		u, err = user.LookupId(strconv.Itoa(uid))
	}
	if err != nil {
		return homeUser{}, err
	}
	h := homeUser{Name: u.Username, Home: u.HomeDir, UID: -1}
	if runtime.GOOS == "windows" {
		h.SID = u.Uid
	} else if n, err := strconv.Atoi(u.Uid); err == nil {
		h.UID = n
	}
	if h.Home == "" || !filepath.IsAbs(h.Home) {
		return homeUser{}, fmt.Errorf("%s has no home folder", u.Username)
	}
	return h, nil
}

// whose decides whose folders a per-user fix acts on: the local user who
// asked (who may name nobody else), else the user the technician named,
// else the user signed in at the computer's screen. what names the folder
// for the messages ("trash", "caches").
func (l *Local) whose(ctx context.Context, args map[string]string, what string) (homeUser, *ActionResult) {
	lookup := l.LookupUser
	if lookup == nil {
		lookup = lookupHomeUser
	}
	name := args["user"]
	if uid := Requester(ctx); uid >= 0 {
		u, err := lookup("", uid)
		if err != nil {
			return u, &ActionResult{NotApplicable: fmt.Sprintf("the account that asked (uid %d) has no home folder on this computer, so it has no %s here", uid, what)}
		}
		if name != "" && name != u.Name {
			return u, &ActionResult{Refused: &RefusalError{Code: wire.RefusePolicy,
				Reason: fmt.Sprintf("built-in rule: you can empty only your own %s (you are %s, not %s); the help desk can do it for another user", what, u.Name, name)}}
		}
		u.How = "the user who asked"
		return u, nil
	}
	if name != "" {
		u, err := lookup(name, -1)
		if err != nil {
			return u, &ActionResult{NotApplicable: fmt.Sprintf("there is no user %s with a home folder on this computer", name)}
		}
		u.How = "named in the request"
		return u, nil
	}
	console := l.ConsoleUser
	if console == nil {
		console = consoleUser
	}
	u, err := console()
	if err != nil {
		return u, &ActionResult{NotApplicable: fmt.Sprintf("nobody is signed in at this computer's screen (%v), so there is no user whose %s to empty: "+
			"name the user (parameter user)", err, what)}
	}
	u.How = "signed in at the screen"
	return u, nil
}

// emptyUserFolders is empty-trash and clear-user-caches: it empties the
// folders of action for the user whose() picks and reports what it freed.
func (l *Local) emptyUserFolders(ctx context.Context, action string, args map[string]string) ActionResult {
	what := map[string]string{ActEmptyTrash: "trash", ActClearUserCaches: "caches"}[action]
	u, stop := l.whose(ctx, args, what)
	if stop != nil {
		return *stop
	}
	var roots []purgeRoot
	for _, rel := range userFolders(runtime.GOOS, action) {
		roots = append(roots, purgeRoot{base: u.Home, rel: rel})
	}
	if action == ActEmptyTrash && runtime.GOOS == "windows" && u.SID != "" {
		for _, b := range recycleBins(u.SID, windowsDrives()) {
			roots = append(roots, purgeRoot{base: b})
		}
	}
	inUse := openFiles()
	var st PurgeStats
	var out strings.Builder
	fmt.Fprintf(&out, "%s: %s (%s), home %s\n", what, u.Name, u.How, u.Home)
	freeBefore, haveFree := freeSpace(u.Home)
	found := 0
	var linked []string
	var failed []error
	for _, r := range roots {
		if ctx.Err() != nil {
			break
		}
		s, n, err := purgeFolders(ctx, r, inUse)
		found += n
		st.add(s)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case errors.Is(err, errLinkRefused):
			linked = append(linked, r.String())
			fmt.Fprintf(&out, "%s: %v\n", r, err)
		case err != nil:
			failed = append(failed, err)
			fmt.Fprintf(&out, "%s: %v\n", r, err)
		case n > 0:
			fmt.Fprintf(&out, "%s: removed %d files and %d folders, freeing %s\n", r, s.Removed, s.Dirs, diag.HumanBytes(uint64(s.BytesFreed)))
		}
	}
	fmt.Fprintf(&out, "removed %d files and %d folders, freeing %s; %d skipped because they are in use, %d could not be removed, "+
		"%d folders left alone because another filesystem is mounted there\n",
		st.Removed, st.Dirs, diag.HumanBytes(uint64(st.BytesFreed)), st.SkippedInUse, st.Failed, st.OtherFS)
	if freeAfter, ok := freeSpace(u.Home); ok && haveFree {
		fmt.Fprintf(&out, "free space on the disk holding %s: %s before, %s after\n", u.Home, diag.HumanBytes(freeBefore), diag.HumanBytes(freeAfter))
	}
	res := ActionResult{Output: out.String(), BytesFreed: st.BytesFreed}
	if ctx.Err() != nil {
		res.Err = fmt.Errorf("stopped after removing %d files: %w", st.Removed, ctx.Err())
		return res
	}
	switch {
	case found == 0 && len(failed) > 0:
		res.Err = fmt.Errorf("%s's %s could not be opened: %w", u.Name, what, errors.Join(failed...))
	case found == 0 && len(linked) > 0:
		res.NotApplicable = fmt.Sprintf("%s's %s folder (%s) is a link to another place, and the agent never follows links "+
			"(it could lead outside the user's folders), so nothing was deleted", u.Name, what, strings.Join(linked, ", "))
	case found == 0:
		res.Summary = fmt.Sprintf("%s's %s was already empty (there is no %s folder).", u.Name, what, what)
	case st.Removed == 0 && st.Dirs == 0 && st.SkippedInUse == 0 && st.Failed == 0:
		res.Summary = fmt.Sprintf("%s's %s was already empty.", u.Name, what)
	default:
		res.Summary = fmt.Sprintf("Emptied %s's %s: %s deleted, %s freed.", u.Name, what, files(st.Removed), diag.HumanBytes(uint64(st.BytesFreed)))
		if st.SkippedInUse > 0 {
			res.Summary += fmt.Sprintf(" Kept %s in use by a running program.", files(st.SkippedInUse))
		}
	}
	return res
}

// files is "1 file" or "N files".
func files(n int) string {
	if n == 1 {
		return "1 file"
	}
	return strconv.Itoa(n) + " files"
}

// purgeRoot is a folder to empty: base (an administrator's path, from the
// account database) and rel below it, opened one element at a time
// without following symlinks.
type purgeRoot struct {
	base string
	rel  []string
}

func (r purgeRoot) String() string { return filepath.Join(append([]string{r.base}, r.rel...)...) }

// purgeFolders empties every folder r names (several where rel holds
// "*") and returns how many it found.
func purgeFolders(ctx context.Context, r purgeRoot, inUse map[fileKey]bool) (PurgeStats, int, error) {
	star := -1
	for i, e := range r.rel {
		if e == "*" {
			star = i
			break
		}
	}
	if star < 0 {
		st, err := purgeFolder(ctx, r.base, r.rel, inUse)
		if err != nil {
			return st, 0, err
		}
		return st, 1, nil
	}
	names, err := listFolders(r.base, r.rel[:star])
	if err != nil {
		return PurgeStats{}, 0, err
	}
	var st PurgeStats
	n := 0
	for _, name := range names {
		rel := append(append(append([]string{}, r.rel[:star]...), name), r.rel[star+1:]...)
		s, c, err := purgeFolders(ctx, purgeRoot{base: r.base, rel: rel}, inUse)
		st.add(s)
		n += c
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return st, n, err
		}
	}
	return st, n, nil
}

// listFolders lists the folders in base/rel, opened without following
// symlinks below base.
func listFolders(base string, rel []string) ([]string, error) {
	root, err := os.OpenRoot(base)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	des, err := fs.ReadDir(root.FS(), filepath.ToSlash(filepath.Join(append([]string{"."}, rel...)...)))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range des {
		if d.IsDir() && d.Type()&fs.ModeSymlink == 0 {
			out = append(out, d.Name())
		}
	}
	return out, nil
}
