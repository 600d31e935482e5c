// Package watch is wirecheck's watch service: it runs a live engine on one
// interface, judges each new flow within a second of its first packet
// (alerts on Config.Stderr, events on Config.Events), evaluates the whole
// observation every Config.Interval (a summary line, rule status events,
// metrics, a rotated report), reloads the profile when Config.Reload
// delivers, and returns the final result when the context ends, the
// duration runs out or the engine fails.
//
// Contract:
//   - Run is the only entry. It chooses the engine in one place: the one
//     Config.Engine names, or without a choice eBPF where the kernel and
//     the process's capabilities allow it, else libpcap, saying why on
//     Config.Stderr.
//   - Time is read only through Config.Clock (SystemClock in production),
//     so tests drive polls, summaries, report rotation and the duration;
//     the supervisor (classify/live) stamps its notices and sweeps by it
//     too, though it checks the interface on a ticker of its own. Only
//     the metrics server's shutdown and header timeouts are wall-clock
//     bounds of their own.
//   - Output goes only to the injected writers and sinks: Config.Stderr
//     (alerts, summaries, notices; serialised, as the engine's supervisor
//     writes from its own goroutine), Config.Events (JSON lines) and
//     Config.Reports. The final report is the caller's: Run returns it.
//   - One owner: the matcher, the set of alerted flows and the rule states
//     belong to Run's loop, which alone replaces the matcher on a reload;
//     the metrics endpoint reads only a snapshot the loop publishes.
//
// Its tests need no CLI: the unprivileged ones drive the loop with a fake
// engine and clock; the privileged ones (lab_linux_test.go) call Run in a
// child process inside network namespaces of internal/netnslab, with real
// engines and real traffic. The command's tests keep what is the command's
// own: flags, signals, exit statuses.
//
// The package belongs to the wirecheck command: its errors name the
// command's flags (--engine, --report-dir), which is what its user typed.
package watch
