package main

import (
	"context"
	"fmt"
	"log/slog"

	"radiusmfa/config"
	"radiusmfa/enrollment"
	"radiusmfa/factors/push"
	"radiusmfa/factors/push/ntfy"
	"radiusmfa/store"
)

// startNtfy wires ntfy delivery when push.ntfy.url is set: the publisher
// (with the access token read from its file) and the key of the approval
// links, kept sealed in the store. Without ntfy both are nil.
func startNtfy(ctx context.Context, cfg *config.Config, st store.Store, log *slog.Logger) (push.Publisher, *push.LinkKey, error) {
	n := cfg.Push.Ntfy
	if n.URL == "" {
		return nil, nil, nil
	}
	token, err := n.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("push.ntfy.token_file: %w", err)
	}
	pub, err := ntfy.New(ntfy.Options{Server: n.URL, Token: token, Priority: n.Priority,
		AllowHTTP: cfg.Push.AllowLoopbackHTTPEndpoints})
	if err != nil {
		return nil, nil, fmt.Errorf("push.ntfy: %w", err)
	}
	links, err := push.LoadOrCreateLinkKey(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	log.Info("push approval through ntfy", "server", n.URL, "access_token", token != "")
	return pub, links, nil
}

// siteDeps are the parts of push approval the enrollment site serves.
func (pp *pushParts) siteDeps() *enrollment.PushDeps {
	d := &enrollment.PushDeps{Hub: pp.service.Hub(), VAPIDPublic: pp.vapid.Public}
	if pp.links != nil {
		d.Ntfy = &enrollment.NtfyDeps{Server: pp.ntfyServer, Links: pp.links}
	}
	return d
}
