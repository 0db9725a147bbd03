package web_test

import (
	"digitalpost/internal/clients/web"
	"digitalpost/internal/infra/testenv"
)

// pagesOf is the desks the pages are served in front of, as the worker hands them.
func pagesOf(sys *testenv.System) web.Desks {
	return web.Desks{PostOffice: sys.PostOffice, CitizenService: sys.Desk, Sessions: sys.PageSessions}
}
