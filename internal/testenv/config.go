package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// configXML is a minimal server configuration: loopback only, logs to files
// in the server directory, nothing in system log tables. The root element is
// <yandex>, which old servers require and new ones still accept.
const configXML = `<?xml version="1.0"?>
<!-- Written by Mote's testenv; rewritten on every start. -->
<yandex>
    <logger>
        <level>information</level>
        <log>{{dir}}/log/server.log</log>
        <errorlog>{{dir}}/log/server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
        <console>0</console>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{{tcp}}</tcp_port>
    <http_port>{{http}}</http_port>
    <path>{{dir}}/data/</path>
    <tmp_path>{{dir}}/data/tmp/</tmp_path>
    <user_files_path>{{dir}}/data/user_files/</user_files_path>
    <format_schema_path>{{dir}}/data/format_schemas/</format_schema_path>
    <users_config>{{dir}}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>67108864</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
`

// usersXML: one user, "default", without a password, reachable from
// loopback only.
const usersXML = `<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</yandex>
`

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// writeConfig writes config.xml and users.xml into dir and creates the data
// and log directories.
func writeConfig(dir string, tcpPort, httpPort int) error {
	for _, sub := range []string{"data", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("create server directory: %w", err)
		}
	}
	cfg := strings.NewReplacer(
		"{{dir}}", xmlEscaper.Replace(dir),
		"{{tcp}}", fmt.Sprint(tcpPort),
		"{{http}}", fmt.Sprint(httpPort),
	).Replace(configXML)
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("write server config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(usersXML), 0o644); err != nil {
		return fmt.Errorf("write server users: %w", err)
	}
	return nil
}
