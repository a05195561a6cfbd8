package ldapauth

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	serverUp     *prometheus.GaugeVec
	serverErrors *prometheus.CounterVec
	unavailable  prometheus.Counter
	logins       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, servers []string) *metrics {
	m := &metrics{
		serverUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "radiusmfa_ldap_server_up",
			Help: "1 while the directory server answers, 0 while it is skipped after a failure.",
		}, []string{"server"}),
		serverErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "radiusmfa_ldap_server_errors_total",
			Help: "Failures of a directory server (connect, TLS, timeout, service account bind).",
		}, []string{"server"}),
		unavailable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "radiusmfa_ldap_unavailable_total",
			Help: "Logins that failed closed because no directory server answered.",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "radiusmfa_ldap_binds_total",
			Help: "User password checks against the directory, by result.",
		}, []string{"result"}),
	}
	for _, s := range servers {
		m.serverUp.WithLabelValues(s).Set(1)
		m.serverErrors.WithLabelValues(s)
	}
	m.logins.WithLabelValues("accepted")
	m.logins.WithLabelValues("rejected")
	if reg != nil {
		reg.MustRegister(m.serverUp, m.serverErrors, m.unavailable, m.logins)
	}
	return m
}

func (m *metrics) up(server string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.serverUp.WithLabelValues(server).Set(v)
}
