package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"radiusmfa/config"
	"radiusmfa/internal/geoip"
)

// geoipReloadEvery is how often serve looks for a new GeoIP database file:
// a monthly or weekly download need not be seen sooner.
const geoipReloadEvery = time.Minute

// openGeoIP opens push.geoip_database when push runs and it is set (nil
// otherwise); an error names the key.
func openGeoIP(cfg *config.Config) (*geoip.DB, error) {
	if cfg.Push.GeoIPDatabase == "" || !cfg.Push.Enabled || cfg.Web.Listen == "" {
		return nil, nil
	}
	db, err := geoip.Open(cfg.Push.GeoIPDatabase)
	if err != nil {
		return nil, fmt.Errorf("push.geoip_database: %w", err)
	}
	return db, nil
}

// watchGeoIP reads a new version of db's file as it appears, until ctx
// ends, then closes db; lookups after that find nothing.
func watchGeoIP(ctx context.Context, db *geoip.DB, path string, log *slog.Logger) {
	db.Watch(ctx, geoipReloadEvery, func(err error) {
		if err != nil {
			log.Warn("push.geoip_database: the new file cannot be used; keeping the database in use", "file", path, "err", err)
			return
		}
		log.Info("push.geoip_database: new database in use", "file", path, "database", db.Describe())
	})
	db.Close()
}
