package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"radiusmfa/admin"
	"radiusmfa/audit"
	"radiusmfa/auth"
	"radiusmfa/config"
	"radiusmfa/enrollment"
	"radiusmfa/factors"
	"radiusmfa/internal/gctune"
	"radiusmfa/ldapauth"
	"radiusmfa/radiusd"
	"radiusmfa/store"
)

// shutdownGrace bounds how long in-flight requests may finish after SIGTERM.
const shutdownGrace = 15 * time.Second

func (c *cli) serve(args []string) error {
	fs, cfgPath := c.flags("serve")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadConfigLoud(*cfgPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return c.runServer(ctx, cfg, configArg(*cfgPath))
}

// runServer wires every part in a visible order and runs until ctx ends;
// cfgFlag is the --config flag hints repeat ("" without one).
func (c *cli) runServer(ctx context.Context, cfg *config.Config, cfgFlag string) error {
	log := newLogger(cfg.Log, c.stderr)
	if _, set := config.LookupEnv(c.env, "GOGC"); !set {
		gc := gctune.Start(cfg.Ops.GCPercent, uint64(cfg.Ops.GCHeapMiB)<<20)
		defer gc.Stop()
	}
	st, err := c.openStore(cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	auditw := audit.NewWriter(st, log, reg)
	defer auditw.Close()
	notifier, err := startNotifier(cfg.Notify, log, reg)
	if err != nil {
		return err
	}
	defer closeNotifier(notifier, log)

	primary, directory, closeDir, err := primaryDirectory(cfg, st, log, reg)
	if err != nil {
		return err
	}
	defer closeDir()
	codes, err := startCodes(cfg, st, log, reg)
	if err != nil {
		return err
	}
	var sentFactors []factors.Factor
	if codes != nil {
		sentFactors = codes.Factors()
	}
	engine, err := newEngine(cfg, st, primary, directory, sentFactors...)
	if err != nil {
		return err
	}
	if codes != nil {
		engine.SetCodeSender(codes)
	}

	rcfg, err := radiusConfig(cfg.Radius)
	if err != nil {
		return err
	}
	for _, cl := range rcfg.Clients {
		if cl.RequireMA == radiusd.MAOptional {
			log.Warn("client does not require Message-Authenticator: vulnerable to Blast-RADIUS (CVE-2024-3596); use only for devices that cannot send it",
				"client", cl.Name)
		}
	}
	srv, err := radiusd.NewServer(rcfg, engine, auditw, log, reg)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}

	settings, err := firstStartSettings(ctx, st, cfg, log)
	if err != nil {
		return err
	}
	enf, err := auth.CompileEnforcement(settings.Enforcement)
	if err != nil {
		// Written only after the same check; a failure here is a damaged
		// file, and starting with no enforcement would be fail-open.
		return fmt.Errorf("the stored enforcement settings: %w", err)
	}
	engine.SetEnforcement(enf)
	pushp, err := startPush(ctx, cfg, st, auditw, notifier, reg, log)
	if err != nil {
		return err
	}
	if pushp != nil {
		engine.SetPusher(pushp.service)
	}
	mode := enf.ModeFor("", auth.Identity{}, engine.DefaultMode())
	log.Info("MFA enforcement", "mode", string(mode),
		"group_settings", len(enf.Groups), "client_settings", len(enf.Clients), "set_by", settings.UpdatedBy)
	if mode == auth.ModeOff {
		log.Warn("MFA is off where no group or client setting applies: a password alone logs in; switch it on in the console (Enforcement), with `mfa set --mode required`, or with auth.enforcement")
	}

	// One service for the admin socket (whose connections act as a local
	// admin) and the site (whose requests act as their session's user): no
	// caller without a principal is served.
	sopt := serviceOptions(cfg, "")
	sopt.Factors = serviceFactors(cfg, st)
	if codes != nil {
		// Codes sent to a phone or address prove the user on the site
		// too, and may be allowed as methods.
		sopt.Codes = codes
		for _, f := range codes.Factors() {
			sopt.Factors[f.Kind()] = f
		}
	}
	sopt.Enforcement = engine.Enforcement
	sopt.OnEnforcement = engine.SetEnforcement
	sopt.Alert = func(r store.AuditRecord) {
		log.Warn("a user reports a login that was not theirs", "user", r.User, "detail", r.Detail,
			"client", r.Client, "calling_station_id", r.CallingStationID)
		notifier.Notify(reportNotice(r))
	}
	sopt.Clients = func() []admin.ClientInfo { return clientInfo(srv.ClientStats()) }
	sopt.Push = pushp != nil
	if pushp != nil {
		sopt.ResumePush = pushp.service.Hub().Resume
	}
	if d, ok := primary.(*ldapauth.Directory); ok {
		sopt.SearchDirectory = func(ctx context.Context, q string, limit int) ([]admin.DirectoryUser, error) {
			found, err := d.Search(ctx, q, limit)
			out := make([]admin.DirectoryUser, 0, len(found))
			for _, u := range found {
				out = append(out, admin.DirectoryUser{Name: u.Name, DisplayName: u.DisplayName, Mail: u.Mail, Disabled: u.Disabled})
			}
			return out, err
		}
	}
	svc := admin.NewService(st, sopt)
	if pushp != nil {
		// A phone disabled or removed, an account locked or reset: the
		// logins waiting on that user's pushes end now, and none of those
		// pushes can be approved any more.
		svc.OnAccessReduced(func(user string, _ bool) {
			if n := pushp.service.Hub().Withdraw(user); n > 0 {
				log.Info("pending pushes withdrawn after a change to the user's access", "user", user, "pushes", n)
			}
		})
	}
	sock, err := admin.ListenSocket(cfg.Admin.Socket, svc, log)
	if err != nil {
		return err
	}
	go sock.Serve()
	defer sock.Close()

	roles := enrollment.Roles{AdminGroups: cfg.Web.AdminGroups, HelpdeskGroups: cfg.Web.HelpdeskGroups,
		Builtin: cfg.Auth.Directory != directoryLDAP}
	var pushDeps *enrollment.PushDeps
	if pushp != nil {
		pushDeps = pushp.siteDeps()
	}
	site, err := startSite(cfg, enrollment.Deps{Auth: engine, Admin: svc, Roles: roles, Push: pushDeps, Audit: auditw,
		Delimiter: cfg.Auth.Delimiter}, log)
	if err != nil {
		return err
	}
	if site != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = site.Close(sctx)
		}()
	}

	var stopping atomic.Bool
	health := func(ctx context.Context) error {
		if stopping.Load() {
			return errors.New("shutting down")
		}
		_, err := st.Lockout(ctx, "healthz") // a read transaction: the store answers
		return err
	}
	ops, err := startOps(cfg.Ops, reg, health, log)
	if err != nil {
		return err
	}
	defer ops.Close()

	go pruneLockouts(ctx, st, cfg.Auth.Lockout.Duration, log)

	log.Info("radiusmfa ready", "version", version, "auth", addrList(srv.AuthAddrs()),
		"accounting", addrList(srv.AcctAddrs()), "ops", ops.Addr(), "admin_socket", cfg.Admin.Socket,
		"store", cfg.Store.Path, "directory", cfg.Auth.Directory, "web", siteURL(site))
	if site != nil {
		if hint := consoleHint(ctx, cfg, st, cfgFlag); hint != "" {
			log.Warn(hint, "console", siteURL(site)+"console")
		}
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ctx) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	stopping.Store(true)
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
	}
	// A signal that lands between the ready line and Serve's start makes
	// Serve return ErrServerClosed: that is a clean stop too.
	if err := <-serveErr; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, radiusd.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

func radiusConfig(r config.RadiusConfig) (radiusd.Config, error) {
	out := radiusd.Config{
		AuthAddrs: r.Listen, AcctAddrs: r.AccountingListen, RequestTimeout: r.RequestTimeout,
		ReplyCacheTTL: r.ReplyCacheTTL, UnknownClientLogInterval: r.UnknownClientLogInterval,
		MaxInFlight: r.MaxInFlight,
	}
	for i, cc := range r.Clients {
		req, err := radiusd.ParseMARequirement(cc.RequireMessageAuthenticator)
		if err != nil {
			return out, fmt.Errorf("radius.clients[%d]: %w", i, err)
		}
		cl := radiusd.Client{Name: cc.Name, Secret: []byte(cc.Secret), RequireMA: req, RequestTimeout: cc.RequestTimeout}
		for _, n := range cc.Networks {
			// config validated and normalised every network to CIDR form.
			p, err := netip.ParsePrefix(n)
			if err != nil {
				return out, fmt.Errorf("radius.clients[%d].networks: %w", i, err)
			}
			cl.Networks = append(cl.Networks, p)
		}
		out.Clients = append(out.Clients, cl)
	}
	return out, nil
}

func addrList(as []net.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// pruneLockouts drops failure counters idle for a day (or the lock duration,
// if longer) every ten minutes, until ctx ends. Counters exist for any name
// that failed, so made-up names would otherwise pile up.
func pruneLockouts(ctx context.Context, st store.Store, lockFor time.Duration, log *slog.Logger) {
	idle := max(24*time.Hour, lockFor)
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		now := time.Now()
		if n, err := st.PruneLockouts(ctx, now.Add(-idle), now); err != nil && ctx.Err() == nil {
			log.Error("pruning lockout counters", "err", err)
		} else if n > 0 {
			log.Info("pruned idle lockout counters", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type opsServer struct {
	srv  *http.Server
	addr string
}

// Addr is the bound address ("" when disabled).
func (o *opsServer) Addr() string { return o.addr }

func (o *opsServer) Close() {
	if o.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = o.srv.Shutdown(ctx)
	}
}

// startOps serves /healthz and /metrics; an empty address disables it.
// /healthz answers 503 while health reports an error.
func startOps(cfg config.OpsConfig, reg *prometheus.Registry, health func(context.Context) error, log *slog.Logger) (*opsServer, error) {
	addr := cfg.Listen
	if addr == "" {
		return &opsServer{}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := health(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "unavailable")
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ops listener: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("ops listener", "err", err)
		}
	}()
	return &opsServer{srv: srv, addr: ln.Addr().String()}, nil
}

// startSite starts the enrollment site unless web.listen is empty (nil
// then). A self-signed certificate made now is announced with its
// fingerprint, which users compare with what their browser shows.
func startSite(cfg *config.Config, deps enrollment.Deps, log *slog.Logger) (*enrollment.Site, error) {
	w := cfg.Web
	if w.Listen == "" {
		return nil, nil
	}
	sc := enrollment.Config{Addr: w.Listen, BehindProxy: w.BehindProxy, PublicURL: w.PublicURL}
	for _, p := range w.TrustedProxies {
		sc.TrustedProxies = append(sc.TrustedProxies, netip.MustParsePrefix(p)) // normalised by config
	}
	if !w.BehindProxy {
		host, _, _ := net.SplitHostPort(w.Listen)
		cert, err := enrollment.LoadCertificate(w.CertFile, w.KeyFile, cfg.DataDir, []string{host}, time.Now())
		if err != nil {
			return nil, err
		}
		sc.Certificate = cert
		switch {
		case cert.Created:
			log.Warn("made a self-signed certificate for the enrollment site: browsers will warn until you configure web.cert_file; compare this fingerprint",
				"file", cert.CertFile, "sha256", cert.Fingerprint)
		case cert.SelfSigned:
			log.Info("enrollment site certificate (self-signed)", "file", cert.CertFile, "sha256", cert.Fingerprint)
		}
	}
	return enrollment.Start(sc, deps, log)
}

func siteURL(s *enrollment.Site) string {
	if s == nil {
		return ""
	}
	return s.URL()
}

// clientInfo is the console's view of the RADIUS server's per-client tally.
func clientInfo(cs []radiusd.ClientStats) []admin.ClientInfo {
	out := make([]admin.ClientInfo, 0, len(cs))
	for _, c := range cs {
		out = append(out, admin.ClientInfo{Name: c.Name, Networks: c.Networks,
			RequireMessageAuthenticator: c.RequireMessageAuthenticator, LastRequest: c.LastRequest,
			LastSource: c.LastSource, Requests: c.Requests, Accepts: c.Accepts, Rejects: c.Rejects,
			Challenges: c.Challenges, WithMessageAuthenticator: c.WithMessageAuthenticator,
			WithoutMessageAuthenticator: c.WithoutMessageAuthenticator})
	}
	return out
}

// consoleHint tells the operator how to reach the console when nobody can
// yet: with the built-in directory, the commands that make the first admin;
// with a directory, the setting that names its admin group.
func consoleHint(ctx context.Context, cfg *config.Config, st store.Store, configArg string) string {
	if cfg.Auth.Directory == directoryLDAP {
		if len(cfg.Web.AdminGroups) == 0 {
			return "no console admins: list your directory's admin group in web.admin_groups"
		}
		return ""
	}
	users, err := st.ListUsers(ctx)
	if err != nil {
		return ""
	}
	for _, u := range users {
		if slices.Contains(u.Roles, admin.RoleAdmin) {
			return ""
		}
	}
	return fmt.Sprintf("no console admin yet: make one with `%[1]s user add NAME%[2]s`, `%[1]s user roles NAME admin%[2]s` and "+
		"`%[1]s totp enroll NAME%[2]s` (scan the printed URI), then sign in to the console with password and code", progName(), configArg)
}

// configArg is the --config flag that repeats path for a hint ("" when
// the configuration came from $RADIUSMFA_CONFIG).
func configArg(path string) string {
	if path == "" {
		return ""
	}
	return " --config " + path
}

// progName is how this binary was started, for hints to copy ("radiusmfa"
// when unknown).
func progName() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		return os.Args[0]
	}
	return "radiusmfa"
}

// firstStartSettings confirms, at the first start of this version on a
// database, the settings its upgrade left pending, and returns them. A file
// from before auth.enforcement keeps MFA required (the only mode those
// versions had) unless the configuration now names a mode; a new file
// starts with no setting, so the configuration's mode (default off) holds.
func firstStartSettings(ctx context.Context, st store.Store, cfg *config.Config, log *slog.Logger) (store.Settings, error) {
	cur, err := st.Settings(ctx)
	if err != nil || !cur.UpdatedAt.IsZero() {
		return cur, err
	}
	configured := cfg.Auth.Enforcement != "" || cfg.Auth.EnrollmentRequired != ""
	kept := false
	err = st.UpdateSettings(ctx, func(s *store.Settings) error {
		if !s.UpdatedAt.IsZero() {
			return nil
		}
		if configured && s.Enforcement.Mode != "" {
			s.Enforcement.Mode = "" // the configuration's mode holds
			s.UpdatedBy = "first start (the configuration names a mode)"
		}
		kept = s.Enforcement.Mode != ""
		s.UpdatedAt = time.Now().UTC()
		if s.UpdatedBy == "" {
			s.UpdatedBy = "first start"
		}
		return nil
	})
	if err != nil {
		return cur, err
	}
	if kept {
		log.Warn("this database predates auth.enforcement, whose default is off: MFA stays required, " +
			"as a console setting (Enforcement) an admin can change")
	}
	return st.Settings(ctx)
}
