// Package action carries out wirecheck's commands once their flags are
// parsed: Analyse judges captures and writes the report, Suggest drafts a
// profile from captures, Diff compares two reports, Watch runs the watch
// service on an interface and writes its final report, CheckProfiles
// validates profile files. Each is a function of a plain options struct
// and the command's Streams; the command maps its flags onto the options
// and what comes back onto its exit status and words.
//
// Contract:
//   - An action checks its options before it reads a capture or starts
//     an engine, in a fixed order (the one the command has always said
//     them in), so that the first mistake is the one said. An option it
//     cannot use is an *OptionError naming the options field (a format
//     one a *FormatError with the formats there are; analyse without a
//     profile ErrNoProfile); the libraries' own errors (a profile that
//     does not load, a *match.BindingError, a *match.OptionError) come
//     back as they are. The action's own errors name no flag: wording
//     them as the flag the user typed is the command's job (main's
//     flagError). The command's own packages it calls do name flags:
//     internal/outfile (-o) and internal/watch (--engine), as the report
//     and the host warning name --host.
//   - What the run concluded is an Outcome, not an exit status: Pass,
//     Fail or Undecided.
//   - Captures are read as classify.ReadFiles reads them, with the
//     progress line on Streams.Err, a damaged file said there (what was
//     read before the damage is kept), and the collector set for one large
//     read: GOGC 25 unless the environment sets GOGC, and a collection
//     after reading. Watch takes SIGHUP (reload the profiles), SIGINT and
//     SIGTERM (end the run) while it runs. That is process state, which
//     is why only a command calls these functions.
//   - Output goes to Streams.Out or to the file Output names (written
//     whole or not at all, never over an input: internal/outfile);
//     warnings, progress and a baseline comparison to Streams.Err. Standard
//     input is read from Streams.In when a capture is named "-".
//
// An action is called from one goroutine and keeps no state between
// calls.
package action
