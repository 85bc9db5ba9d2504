package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/tierline/tierline/hub/server"
	"github.com/tierline/tierline/hub/sso"
)

// ssoFlags are serve's single sign-on flags (hub/sso).
type ssoFlags struct {
	issuer, clientID, secretFile, roles, groupsClaim, breakGlass *string
	sites                                                        *string
	createUsers, passwordLogin                                   *bool
}

func addSSOFlags(fs *flag.FlagSet) ssoFlags {
	return ssoFlags{
		issuer:        fs.String("oidc-issuer", "", "OpenID Connect provider's issuer URL for single sign-on (default: none, or as set on the admin page; when given, the admin page cannot change the provider) [TIERLINE_OIDC_ISSUER]"),
		clientID:      fs.String("oidc-client-id", "", "the hub's client id at the provider [TIERLINE_OIDC_CLIENT_ID]"),
		secretFile:    fs.String("oidc-client-secret-file", "", "file holding the hub's client secret at the provider [TIERLINE_OIDC_CLIENT_SECRET_FILE]"),
		roles:         fs.String("oidc-roles", "", "provider groups that give roles, group=role,... e.g. helpdesk-admins=admin,helpdesk=tier1 (the highest of a user's groups wins) [TIERLINE_OIDC_ROLES]"),
		groupsClaim:   fs.String("oidc-groups-claim", "groups", "ID-token claim holding the user's groups [TIERLINE_OIDC_GROUPS_CLAIM]"),
		sites:         fs.String("oidc-sites", "", "provider groups that give sites, group=site,... e.g. berlin-desk=berlin,hq-desk=*; a user works the sites of all their groups, * every site (default: as set on the admin page, else sites as an admin sets them for each user; when given, the admin page cannot change it) [TIERLINE_OIDC_SITES]"),
		createUsers:   fs.Bool("oidc-create-users", false, "create a user at their first sign-on (default: an admin adds them first with `user add --sso`) [TIERLINE_OIDC_CREATE_USERS]"),
		passwordLogin: fs.Bool("password-login", true, "allow logins with a password; false leaves single sign-on and the --break-glass-admin (default: as set on the admin page; when false, the admin page cannot change it) [TIERLINE_PASSWORD_LOGIN]"),
		breakGlass:    fs.String("break-glass-admin", "", "with --password-login=false: the one admin who may still log in with a password (and second factor) when the provider is down [TIERLINE_BREAK_GLASS_ADMIN]"),
	}
}

// config reads the flags; the server fills in the callback from its URL
// and checks the rest when it starts.
func (f ssoFlags) config() (server.SSOConfig, error) {
	var out server.SSOConfig
	out.PasswordLoginOff, out.BreakGlass = !*f.passwordLogin, *f.breakGlass
	out.PasswordSet = out.PasswordLoginOff || out.BreakGlass != ""
	sites, err := sso.ParseSiteMap(*f.sites)
	if err != nil {
		return out, fmt.Errorf("--oidc-sites: %w", err)
	}
	// Given alone, --oidc-sites stands over the admin page's site mapping
	// for a provider set there.
	out.OIDC.SiteMap = sites
	if *f.issuer == "" {
		if *f.clientID != "" || *f.secretFile != "" || *f.roles != "" || *f.createUsers {
			return out, errors.New("--oidc-client-id, --oidc-client-secret-file, --oidc-roles and --oidc-create-users need --oidc-issuer URL")
		}
		return out, nil
	}
	roles, err := sso.ParseRoleMap(*f.roles)
	if err != nil {
		return out, fmt.Errorf("--oidc-roles: %w", err)
	}
	out.OIDC = sso.Config{Issuer: strings.TrimRight(*f.issuer, "/"), ClientID: *f.clientID, GroupsClaim: *f.groupsClaim,
		RoleMap: roles, SiteMap: sites, CreateUsers: *f.createUsers}
	if *f.secretFile != "" {
		b, err := os.ReadFile(*f.secretFile)
		if err != nil {
			return out, fmt.Errorf("--oidc-client-secret-file: %w", err)
		}
		out.OIDC.ClientSecret = strings.TrimSpace(string(b))
	}
	return out, nil
}
