package match_test

import (
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/report"
)

func init() {
	match.WordProblem = report.ProblemText
	match.WordFlow = report.FlowText
}
