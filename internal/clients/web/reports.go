package web

import (
	"net/http"
	"time"

	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/statistics"
)

// StatisticsMonths is how far back the statistics page counts letters and notices.
const StatisticsMonths = 12

// StatisticsTTL is how old the public statistics may be: they are counted at most this often,
// however many ask (issue 23, M1).
const StatisticsTTL = time.Minute

type statisticsData struct {
	CountedAt  time.Time
	Population statistics.Population
	Months     []monthRow
	Enrolment  chart
	Contact    chart
	Letters    chart
	Notices    chart
}

type monthRow struct {
	statistics.Month
	Label string
}

var danishMonths = []string{"jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"}

// statistics shows the seeds' tables from PostgreSQL: citizens by enrolment and contact
// details, letters and notices per month. Counts only: no one is named. The counts are at
// most StatisticsTTL old.
func (s *Site) statistics(w http.ResponseWriter, r *http.Request) {
	now := calendar.In(time.Now())
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, calendar.Copenhagen).AddDate(0, -(StatisticsMonths - 1), 0)
	figures, err := s.public.Get(r.Context(), from)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	pop, months := figures.Population, figures.Months
	d := statisticsData{Population: pop, CountedAt: figures.At}
	var labels []string
	var digital, paper, both, sms, email []int
	for _, m := range months {
		label := danishMonths[m.Month.Month()-1] + " " + m.Month.Format("06")
		d.Months = append(d.Months, monthRow{Month: m, Label: label})
		labels = append(labels, label)
		digital, paper, both = append(digital, m.Digital), append(paper, m.Paper), append(both, m.DigitalThenPaper)
		sms, email = append(sms, m.SMS), append(email, m.Email)
	}
	d.Enrolment = groupedBars("Borgere fordelt på tilmelding", []string{"Selv tilmeldt", "Fritaget", "Automatisk"},
		[]series{{Label: "Borgere", Class: "s1", Values: []int{pop.SelfEnrolled, pop.Exempt, pop.AutoEnrolled}}})
	d.Contact = groupedBars("Borgere med kontaktoplysninger", []string{"E-mail", "Mobil", "Begge", "Ingen"},
		[]series{{Label: "Borgere", Class: "s2", Values: []int{pop.Email, pop.Mobile, pop.Both, pop.Neither}}})
	d.Letters = groupedBars("Breve pr. måned efter kanal", labels, []series{
		{Label: "Digitalt", Class: "s1", Values: digital}, {Label: "Papir", Class: "s3", Values: paper},
		{Label: "Digitalt, så papir", Class: "s4", Values: both}})
	d.Notices = groupedBars("Notifikationer pr. måned", labels, []series{
		{Label: "SMS", Class: "s2", Values: sms}, {Label: "E-mail", Class: "s1", Values: email}})
	s.render(w, r, http.StatusOK, "statistics.html", page{Title: "Statistik for Digital Post", Data: d})
}

type dashboardData struct {
	Sender  statistics.Sender
	Opening chart
	Status  chart
}

func (s *Site) senderRoutes() {
	s.mux.HandleFunc("GET /afsender", s.need(RoleSender, s.dashboard))
}

// dashboard is a sender's view of their own letters: by status and channel, open rate,
// time from delivery to opening, paper share.
func (s *Site) dashboard(w http.ResponseWriter, r *http.Request, sess Session) {
	v, err := s.d.PostOffice.SenderStatistics(r.Context(), sess.SenderID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d := dashboardData{Sender: v}
	var labels []string
	var counts []int
	for _, b := range v.Opening {
		labels, counts = append(labels, b.Label), append(counts, b.N)
	}
	d.Opening = groupedBars("Tid fra levering til åbning", labels, []series{{Label: "Åbnede breve", Class: "s1", Values: counts}})
	labels, counts = nil, nil
	for _, c := range v.ByStatus {
		labels, counts = append(labels, danish(c.Label)), append(counts, c.N)
	}
	d.Status = groupedBars("Breve efter status", labels, []series{{Label: "Breve", Class: "s2", Values: counts}})
	s.render(w, r, http.StatusOK, "dashboard.html", page{Title: "Afsender: " + sess.Name, Data: d})
}
