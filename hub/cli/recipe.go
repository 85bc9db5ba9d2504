package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tierline/tierline/hub/recipes"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/software"
)

// recipeKeygen makes the organisation's recipe signing key. It needs no
// hub: run it on the offline machine that will keep the key.
func recipeKeygen(_ context.Context, args []string, io IO) error {
	fs := flagSet("recipe keygen", io)
	out := fs.String("out", "", "directory for "+orgdoc.PrivateKeyFile+" (0600) and "+orgdoc.PublicKeyFile)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out DIR is required")
	}
	pub, err := orgdoc.Keygen(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Stdout, "signing key %s\n  private: %s/%s (keep it offline; the hub never needs it)\n  public:  %s/%s (pin it in agents: installer RECIPE_KEY, `tierline-agent enroll --recipe-key`, or `tierline-hub token create --recipe-key`)\n",
		orgdoc.KeyID(pub), *out, orgdoc.PrivateKeyFile, *out, orgdoc.PublicKeyFile)
	return nil
}

// recipeSign signs a recipe written as JSON with the organisation's key.
func recipeSign(_ context.Context, args []string, io IO) error {
	fs := flagSet("recipe sign", io)
	key := fs.String("key", "", "the private key `tierline-hub recipe keygen` made")
	out := fs.String("out", "", "where to write the signed recipe (default: FILE with .signed.json)")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	if *key == "" {
		return errors.New("--key is required")
	}
	priv, err := orgdoc.LoadPrivateKey(*key)
	if err != nil {
		return err
	}
	file := fs.Arg(0)
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	// A software catalog entry names its package manager; a recipe
	// has steps.
	var peek map[string]json.RawMessage
	if json.Unmarshal(raw, &peek) == nil && peek["manager"] != nil {
		var e software.Entry
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("%s: not a software catalog entry: %w", file, err)
		}
		doc, err := software.Sign(priv, e)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		return writeSigned(doc, file, *out, io, fmt.Sprintf("software %s version %d (%s %s)", e.ID, e.Version, e.Manager, e.Package))
	}
	var r recipe.Recipe
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf("%s: not a recipe: %w", file, err)
	}
	doc, err := recipe.Sign(priv, r)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return writeSigned(doc, file, *out, io, fmt.Sprintf("recipe %s version %d", r.ID, r.Version))
}

// recipeRotate signs a key change with the key it replaces.
func recipeRotate(_ context.Context, args []string, io IO) error {
	fs := flagSet("recipe rotate", io)
	key := fs.String("key", "", "the current (old) private key, which signs the change")
	newKey := fs.String("new-key", "", "the new public key file ("+orgdoc.PublicKeyFile+" of the new key)")
	serial := fs.Int64("serial", 0, "the change's number: higher than every change before it (1 for the first)")
	note := fs.String("note", "", "why the key changes")
	out := fs.String("out", "key-change.signed.json", "where to write the signed key change")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *key == "" || *newKey == "" {
		return errors.New("--key (old private key) and --new-key (new public key file) are required")
	}
	priv, err := orgdoc.LoadPrivateKey(*key)
	if err != nil {
		return err
	}
	pub, err := orgdoc.ReadPublicKey(*newKey)
	if err != nil {
		return err
	}
	kc := orgdoc.KeyChange{New: orgdoc.EncodePublicKey(pub), Serial: *serial, Note: *note}
	if err := kc.Validate(); err != nil {
		return err
	}
	doc, err := orgdoc.Sign(priv, orgdoc.KindKeyChange, kc)
	if err != nil {
		return err
	}
	return writeSigned(doc, "", *out, io, fmt.Sprintf("key change %d to key %s", kc.Serial, orgdoc.KeyID(pub)))
}

func writeSigned(doc orgdoc.Signed, in, out string, io IO, what string) error {
	b, err := doc.Encode()
	if err != nil {
		return err
	}
	if out == "" {
		out = strings.TrimSuffix(in, ".json") + ".signed.json"
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(io.Stdout, "%s signed with key %s: %s\npublish it with: tierline-hub recipe add --groups default %s\n", what, doc.Key, out, out)
	return nil
}

// recipeAdd publishes a signed recipe (or key change) to device groups.
func recipeAdd(ctx context.Context, args []string, io IO) error {
	fs := flagSet("recipe add", io)
	sf := addStoreFlags(fs)
	groups := fs.String("groups", "", "comma-separated device groups to publish the recipe to (\"*\": every group)")
	st, err := sf.parseAndOpen(ctx, fs, args, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	raw, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var gs []string
	for _, g := range strings.Split(*groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			gs = append(gs, g)
		}
	}
	up, err := recipes.Publish(ctx, st, bytes.TrimSpace(raw), gs, "cli", time.Now())
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	if r := up.Recipe; r != nil {
		fmt.Fprintf(io.Stdout, "recipe %s version %d (signed by %s) published to %s\n", r.ID, r.Version, r.Signer, strings.Join(r.Groups, ", "))
	} else {
		fmt.Fprintf(io.Stdout, "key change %d stored; agents pinning the old key move to the new one at their next connection\n", up.KeyChange.Serial)
	}
	return nil
}

func recipeList(ctx context.Context, args []string, io IO) error {
	fs := flagSet("recipe list", io)
	sf := addStoreFlags(fs)
	st, err := sf.parseAndOpen(ctx, fs, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	rs, err := st.ListRecipes(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tTIER\tSIGNER\tGROUPS\tTITLE")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", r.ID, r.Version, r.Tier, r.Signer, strings.Join(r.Groups, ","), r.Title)
	}
	return tw.Flush()
}
