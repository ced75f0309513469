package dashboards

import (
	"context"
	"net/http"
)

// scopeKey carries the site a request is limited to (a share link's
// site); requests without it may read every site.
type scopeKey struct{}

func withScope(ctx context.Context, site string) context.Context {
	return context.WithValue(ctx, scopeKey{}, site)
}

// allowed reports whether r may read site id.
func allowed(r *http.Request, id string) bool {
	scope, ok := r.Context().Value(scopeKey{}).(string)
	return !ok || scope == id
}
