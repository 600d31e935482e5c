package match

// The report words problems and flows (report.ProblemText); these tests,
// in package match, cannot import it (it imports match), so words_test.go,
// in package match_test, sets these to the report's own functions: the
// wording the tests check is the one every format writes, not a copy.
var (
	WordProblem func(*Result, *Problem) string
	WordFlow    func(*FlowResult) string
)
