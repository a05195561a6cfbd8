package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"radiusmfa/admin"
	"radiusmfa/auth/localdir"
	"radiusmfa/config"
	"radiusmfa/factors"
	"radiusmfa/ldapauth"
	"radiusmfa/store"
	"radiusmfa/store/bolt"
)

// loadConfig loads and validates the configuration, silently: the user
// commands do not repeat its warnings.
func (c *cli) loadConfig(flagPath string) (*config.Config, error) {
	cfg, _, err := config.Load(config.ResolveConfigPath(flagPath, c.env), c.env)
	return cfg, err
}

// loadConfigLoud also prints the warnings, for the commands that start or
// check a server (serve, check-config).
func (c *cli) loadConfigLoud(flagPath string) (*config.Config, error) {
	cfg, warnings, err := config.Load(config.ResolveConfigPath(flagPath, c.env), c.env)
	for _, w := range warnings {
		fmt.Fprintln(c.stderr, "warning:", w)
	}
	return cfg, err
}

func newLogger(cfg config.LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the bbolt database, creating the data directory and the
// master key on first use.
func (c *cli) openStore(cfg *config.Config, log *slog.Logger) (*bolt.DB, error) {
	return c.openStoreWith(cfg, bolt.Options{
		MaxAuditRecords: cfg.Audit.MaxRecords, MaxAuditAge: cfg.Audit.MaxAge, Logger: log,
	}, log)
}

// openStoreBulk opens the store for a bulk load (the bench setup) with
// fsync off; the caller must Sync before Close.
func (c *cli) openStoreBulk(cfg *config.Config) (*bolt.DB, error) {
	return c.openStoreWith(cfg, bolt.Options{NoSync: true}, slog.New(slog.DiscardHandler))
}

func (c *cli) openStoreWith(cfg *config.Config, opts bolt.Options, log *slog.Logger) (*bolt.DB, error) {
	if err := os.MkdirAll(filepath.Dir(cfg.Store.Path), 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	envKey, _ := config.LookupEnv(c.env, config.EnvMasterKey)
	if err := keyWouldBeNew(cfg, envKey); err != nil {
		return nil, err
	}
	key, created, err := store.LoadOrCreateMasterKey(cfg.Store.MasterKeyFile, envKey)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("created a new master key: back it up, the database cannot be read without it",
			"path", cfg.Store.MasterKeyFile)
	}
	return bolt.Open(cfg.Store.Path, key, opts)
}

// keyWouldBeNew refuses to create a master key next to an existing
// database: that key could never open it, and a stray key file would hide
// the real mistake (a server given its key by environment, a CLI run
// without it, or a lost key file).
func keyWouldBeNew(cfg *config.Config, envKey string) error {
	if envKey != "" {
		return nil
	}
	if _, err := os.Stat(cfg.Store.MasterKeyFile); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if fi, err := os.Stat(cfg.Store.Path); err == nil && fi.Size() > 0 {
		return fmt.Errorf("the database %s exists but its master key %s does not: restore the key file or set %s",
			cfg.Store.Path, cfg.Store.MasterKeyFile, config.EnvMasterKey)
	}
	return nil
}

func serviceOptions(cfg *config.Config, actor string) admin.Options {
	a := cfg.LocalDir.Argon2
	var normalize func(string) string
	if cfg.Auth.Directory == directoryLDAP {
		// Only the name rules are used: New connects to nothing. A config
		// it refuses makes serve fail anyway, so none is needed then.
		if d, err := ldapauth.New(ldapConfig(cfg.LDAP), nil, nil); err == nil {
			normalize = d.NormalizeName
		}
	}
	return admin.Options{
		NormalizeName: normalize,
		Hash:          localdir.Params{Time: a.Time, MemoryKiB: a.MemoryKiB, Threads: a.Threads},
		Delimiter:     cfg.Auth.Delimiter, Issuer: cfg.TOTP.Issuer, Digits: cfg.TOTP.Digits, Skew: cfg.TOTP.Skew,
		Algorithm: cfg.TOTP.Algorithm, Actor: actor,
		Directory:  map[string]string{"ldap": directoryLDAP}[cfg.Auth.Directory],
		PhoneRules: phoneRules(cfg.Codes),
	}
}

// openAPI reaches the running server over its admin socket, or opens the
// database directly when no server runs (bbolt allows one process). The
// context bounds the command; done releases both.
func (c *cli) openAPI(flagPath string) (admin.API, context.Context, func(), error) {
	cfg, err := c.loadConfig(flagPath)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	if cl, err := admin.Dial(cfg.Admin.Socket); err == nil {
		return cl, ctx, cancel, nil
	}
	st, err := c.openStore(cfg, newLogger(cfg.Log, c.stderr))
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	o := serviceOptions(cfg, fmt.Sprintf("cli uid=%d", os.Getuid()))
	o.Factors = serviceFactors(cfg, st)
	svc := admin.NewService(st, o)
	return svc, ctx, func() { cancel(); st.Close() }, nil
}

// serviceFactors are the factors the service verifies codes with, by kind:
// the engine's own set.
func serviceFactors(cfg *config.Config, st store.Store) map[string]factors.Factor {
	return factorMap(factorSet(cfg, st))
}
