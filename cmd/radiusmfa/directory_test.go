package main

import (
	"maps"
	"strings"
	"testing"

	"radiusmfa/auth"
	"radiusmfa/config"
)

func TestGroupPolicies(t *testing.T) {
	cfg := config.Default()
	cfg.Policy = config.PolicyConfig{MFA: "all", RequireGroups: []string{"vpn-users"},
		Reply: []config.ReplyRuleConfig{{Groups: []string{"vpn-admins"}, Final: true,
			Attributes: []config.AttributeConfig{{Name: "class", Value: "OU=Admins;"}, {Name: "Cisco-AVPair", Value: "shell:priv-lvl=15"}}}}}
	cfg.Policies = []config.PolicyConfig{{Name: "forti", MFA: "groups", MFARequiredGroups: []string{"vpn-admins"},
		Reply: []config.ReplyRuleConfig{{Attributes: []config.AttributeConfig{{Name: "Fortinet-Group-Name", Value: "vpn"}}}}}}
	cfg.Radius.Clients = []config.ClientConfig{{Name: "asa"}, {Name: "fgt", Policy: "forti"}}

	global, perClient, err := groupPolicies(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(global.Reply) != 1 || len(global.Reply[0].Attributes) != 2 || global.MFAGroupsOnly || global.Require[0] != "vpn-users" {
		t.Errorf("global policy: %+v", global)
	}
	if a := global.Reply[0].Attributes[0]; a.Name != "Class" || a.Type != 25 || string(a.Data) != "OU=Admins;" {
		t.Errorf("Class compiled to %+v", a)
	}
	if a := global.Reply[0].Attributes[1]; a.Type != 26 || len(a.Data) != 6+len("shell:priv-lvl=15") {
		t.Errorf("Cisco-AVPair compiled to %+v", a)
	}
	if _, ok := perClient["asa"]; ok {
		t.Error("a client without a policy key got a policy of its own")
	}
	fgt, ok := perClient["fgt"]
	if !ok || fgt.Name != "forti" || !fgt.MFAGroupsOnly || fgt.Reply[0].Attributes[0].Name != "Fortinet-Group-Name" {
		t.Errorf("fgt's policy: %+v", fgt)
	}

	cfg.Policies[0].Reply[0].Attributes[0].Name = "Session-Timeout"
	_, _, err = groupPolicies(cfg)
	if err == nil || !strings.Contains(err.Error(), "policies[0].reply[0].attributes[0]") || !strings.Contains(err.Error(), "Session-Timeout") {
		t.Errorf("unknown attribute: %v, want an error naming the key and the attribute", err)
	}
}

func TestClientChallenges(t *testing.T) {
	cfg := &config.Config{Radius: config.RadiusConfig{Clients: []config.ClientConfig{
		{Name: "asa", Challenge: "challenge"}, {Name: "legacy", Challenge: "append-only"}, {Name: "built"},
	}}}
	got := clientChallenges(cfg)
	want := map[string]auth.ChallengeMode{"asa": auth.ChallengeMenu, "legacy": auth.ChallengeAppendOnly, "built": auth.ChallengeAuto}
	if !maps.Equal(got, want) {
		t.Errorf("clientChallenges = %v, want %v", got, want)
	}
}
