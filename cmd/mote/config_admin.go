package main

import (
	"fmt"
	"strings"

	"github.com/mote-analytics/mote/dashboards"
	"github.com/mote-analytics/mote/storage/stats"
)

// goalConfig is one entry of sites[].goals: a custom event name or a
// page pattern ("*" matches any run of characters), e.g.
//
//	goals:
//	  - {name: Signup, event: Signup}
//	  - {name: Pricing visit, page: "/pricing*"}
type goalConfig struct {
	Name  string `yaml:"name"`
	Event string `yaml:"event"`
	Page  string `yaml:"page"`
}

// validateDashboards checks the admin listener's credentials and the
// sites' goals. Errors name the key, never the secret.
func (c *Config) validateDashboards() error {
	if h := c.Admin.PasswordHash; h != "" {
		if err := dashboards.ParsePasswordHash(h); err != nil {
			return badSetting("admin.password_hash", "%v", err)
		}
	}
	for i, k := range c.Admin.APIKeys {
		if err := dashboards.ParseAPIKeyHash(k); err != nil {
			return badSetting(fmt.Sprintf("admin.api_keys[%d]", i), "%v", err)
		}
	}
	for i, h := range c.Admin.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/@\\ ") {
			return badSetting(fmt.Sprintf("admin.allowed_hosts[%d]", i), "%q is not a host name (give the name alone, e.g. stats.example.com)", h)
		}
	}
	for i, s := range c.Sites {
		names := map[string]bool{}
		for j, g := range s.Goals {
			key := fmt.Sprintf("sites[%d].goals[%d]", i, j)
			if err := c.goal(g).Check(); err != nil {
				return badSetting(key, "%v", err)
			}
			if names[strings.ToLower(g.Name)] {
				return badSetting(key+".name", "%q is listed twice", g.Name)
			}
			names[strings.ToLower(g.Name)] = true
		}
	}
	return nil
}

func (c *Config) goal(g goalConfig) stats.Goal {
	return stats.Goal{Name: strings.TrimSpace(g.Name), Event: g.Event, Page: g.Page}
}

// goals are the configured goals by site id.
func (c *Config) goals() map[string][]stats.Goal {
	out := map[string][]stats.Goal{}
	for _, s := range c.Sites {
		for _, g := range s.Goals {
			out[s.ID] = append(out[s.ID], c.goal(g))
		}
	}
	return out
}

// adminLoopbackOnly reports whether the admin listener runs without a
// password (and so answers loopback clients only).
func (c *Config) adminLoopbackOnly() bool { return c.Admin.PasswordHash == "" }
