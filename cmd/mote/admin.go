package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/mote-analytics/mote/dashboards"
)

const adminUsage = `usage: mote admin <command>

commands:
  hash-password   read a password from stdin (one line) and print the hash to
                  set as admin.password_hash (or MOTE_ADMIN_PASSWORD_HASH)
  new-api-key     print a new stats API key (give it to the API's user) and the
                  hash to add to admin.api_keys (or MOTE_ADMIN_API_KEYS)

The configuration holds hashes only: the password and keys are not stored.
`

// adminMain is "mote admin ...": credentials for the admin listener.
func adminMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	switch args[0] {
	case "hash-password":
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintln(stderr, "mote admin hash-password: read stdin:", err)
			return 1
		}
		pw := strings.TrimRight(line, "\r\n")
		if len(pw) < 8 {
			fmt.Fprintln(stderr, "mote admin hash-password: give a password of at least 8 characters on stdin, e.g. `read -rs P && echo \"$P\" | mote admin hash-password`")
			return 2
		}
		h, err := dashboards.HashPassword(pw, 0)
		if err != nil {
			fmt.Fprintln(stderr, "mote admin hash-password:", err)
			return 1
		}
		fmt.Fprintln(stdout, h)
		return 0
	case "new-api-key":
		key, hash := dashboards.NewAPIKey()
		fmt.Fprintf(stdout, "key:  %s\nhash: %s\n", key, hash)
		return 0
	case "-h", "help", "--help":
		fmt.Fprint(stdout, adminUsage)
		return 0
	}
	fmt.Fprintf(stderr, "mote admin: unknown command %q\n\n%s", args[0], adminUsage)
	return 2
}
