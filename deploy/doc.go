// Package deploy holds no code: it is the directory of deployment files
// (compose.yaml, ClickHouse configs, Kubernetes manifests, the systemd unit,
// reverse-proxy snippets). The package exists so that deploy_test.go can
// check every one of those files with `go test ./deploy`: a deployment file
// that does not parse is a bug found by the operator at 3 a.m. otherwise.
package deploy
