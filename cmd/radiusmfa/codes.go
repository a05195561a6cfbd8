package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/auth"
	"radiusmfa/config"
	"radiusmfa/factors/delivery"
	"radiusmfa/factors/otc"
	"radiusmfa/factors/phone"
	"radiusmfa/internal/mailer"
	"radiusmfa/store"
)

// phoneRules are how typed phone numbers are read: the CLI's, the site's
// and the directory's.
func phoneRules(cfg config.CodesConfig) phone.Rules {
	return phone.Rules{DefaultRegion: cfg.Phone.DefaultRegion, Allowed: cfg.Phone.AllowedCountries}
}

// startCodes builds the sender of the codes of text messages, calls and
// email from the codes section; nil when no channel is on.
func startCodes(cfg *config.Config, st store.Store, log *slog.Logger, reg prometheus.Registerer) (*otc.Sender, error) {
	c := cfg.Codes
	rules := phoneRules(c)
	if err := rules.Check(); err != nil {
		return nil, fmt.Errorf("codes.phone: %w", err)
	}
	providers := map[string]delivery.Provider{}
	for _, ch := range []struct {
		kind, key string
		cc        config.CodeChannelConfig
	}{{auth.KindSMS, "codes.sms", c.SMS}, {auth.KindVoice, "codes.voice", c.Voice}} {
		if ch.cc.Provider == "" {
			continue
		}
		p, err := channelProvider(ch.key, ch.cc, c.AllowLoopbackPlaintext)
		if err != nil {
			return nil, err
		}
		providers[ch.kind] = p
	}
	if e := c.Email; e.Host != "" {
		var password string
		if e.PasswordFile != "" {
			var err error
			if password, err = config.ReadSecretFile(e.PasswordFile); err != nil {
				return nil, fmt.Errorf("codes.email.password_file: %w", err)
			}
		}
		p, err := delivery.NewSMTP(delivery.SMTPOptions{From: e.From, Server: mailer.Options{Host: e.Host, Port: e.Port,
			TLS: e.TLS, AllowLoopbackPlaintext: c.AllowLoopbackPlaintext, Username: e.Username, Password: password}})
		if err != nil {
			return nil, fmt.Errorf("codes.email: %w", err)
		}
		providers[auth.KindEmail] = p
	}
	if len(providers) == 0 {
		return nil, nil
	}
	if c.AllowLoopbackPlaintext {
		log.Warn("codes.allow_loopback_plaintext is on: codes may go in clear to a loopback address (for tests only)")
	}
	s, err := otc.NewSender(st, otc.SenderOptions{
		Codes:        otc.Options{Digits: c.Digits, TTL: c.TTL},
		Issuer:       cfg.TOTP.Issuer,
		Providers:    providers,
		SMSMessage:   c.SMS.Message,
		VoiceMessage: c.Voice.Message,
		EmailSubject: c.Email.Subject,
		PerUser:      c.SendsPerUser,
		Window:       c.SendWindow,
		HourlyBudget: c.HourlyBudget,
		Directory:    otc.DirectoryOptions{Phone: c.Directory.Phone, Mail: c.Directory.Mail},
		PhoneRules:   rules,
		Log:          log,
		Registerer:   reg,
	})
	if err != nil {
		return nil, fmt.Errorf("codes: %w", err)
	}
	var on []string
	for _, k := range auth.SentKinds() {
		if p := providers[k]; p != nil {
			on = append(on, k+" via "+p.Name())
		}
	}
	log.Info("one-time codes are sent", "channels", strings.Join(on, ", "), "per_user", c.SendsPerUser,
		"window", c.SendWindow, "hourly_budget", c.HourlyBudget)
	if c.HourlyBudget == 0 {
		log.Warn("codes.hourly_budget is 0: no limit on the codes the server sends in an hour (each may cost money)")
	}
	return s, nil
}

// channelProvider is the provider a text-message or call channel names.
func channelProvider(key string, cc config.CodeChannelConfig, loopback bool) (delivery.Provider, error) {
	switch cc.Provider {
	case "twilio":
		t := cc.Twilio
		token, err := config.ReadSecretFile(t.AuthTokenFile)
		if err != nil {
			return nil, fmt.Errorf("%s.twilio.auth_token_file: %w", key, err)
		}
		p, err := delivery.NewTwilio(delivery.TwilioOptions{BaseURL: t.URL, AccountSID: t.AccountSID, AuthToken: token,
			From: t.From, MessagingServiceSID: t.MessagingServiceSID, AllowLoopbackPlaintext: loopback})
		if err != nil {
			return nil, fmt.Errorf("%s.twilio: %w", key, err)
		}
		return p, nil
	case "webhook":
		w := cc.Webhook
		var authz string
		if w.AuthorizationFile != "" {
			var err error
			if authz, err = config.ReadSecretFile(w.AuthorizationFile); err != nil {
				return nil, fmt.Errorf("%s.webhook.authorization_file: %w", key, err)
			}
		}
		p, err := delivery.NewWebhook(delivery.WebhookOptions{URL: w.URL, Method: w.Method, Headers: w.Headers,
			Authorization: authz, Body: w.Body, ContentType: w.ContentType, AllowLoopbackPlaintext: loopback})
		if err != nil {
			return nil, fmt.Errorf("%s.webhook: %w", key, err)
		}
		return p, nil
	case "command":
		p, err := delivery.NewCommand(delivery.CommandOptions{Path: cc.Command.Path, Args: cc.Command.Args, Timeout: cc.Command.Timeout})
		if err != nil {
			return nil, fmt.Errorf("%s.command: %w", key, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("%s.provider: unknown provider %q", key, cc.Provider)
}
