package admin

import (
	"context"

	"radiusmfa/store"
)

// MyReports returns the "this wasn't me" reports a user made, newest first.
func (s *Service) MyReports(ctx context.Context, user string) ([]store.AuditRecord, error) {
	n, _, err := s.user(ctx, user, needSelfOrStaff)
	if err != nil {
		return nil, err
	}
	return s.queryAudit(ctx, AuditQuery{User: n, Kind: KindReport, Limit: 1000})
}
