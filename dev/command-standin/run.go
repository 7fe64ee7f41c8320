package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
)

// The variables v1.2.1 sets for `update` and `delete` to the previous `stdout` and `stderr`.
const (
	previousStdoutEnv = "PULUMI_COMMAND_STDOUT"
	previousStderrEnv = "PULUMI_COMMAND_STDERR"
)

// run runs command with /bin/sh -c as v1.2.1 does on Linux. previousStdout/previousStderr are
// the outputs of the last create or update ("" for a create). It returns the captured output,
// each with one trailing newline removed; logging (sent line by line to log) never changes
// what is captured.
func run(ctx context.Context, command string, in commandInputs, previousStdout, previousStderr string,
	log func(line string),
) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Dir = in.dir // empty: the provider's working directory, as upstream

	cmd.Env = os.Environ()
	for _, name := range slices.Sorted(maps.Keys(in.environment)) {
		cmd.Env = append(cmd.Env, name+"="+in.environment[name])
	}
	if in.addPreviousOutputInEnv {
		if previousStdout != "" {
			cmd.Env = append(cmd.Env, previousStdoutEnv+"="+previousStdout)
		}
		if previousStderr != "" {
			cmd.Env = append(cmd.Env, previousStderrEnv+"="+previousStderr)
		}
	}
	if in.stdin != "" {
		cmd.Stdin = strings.NewReader(in.stdin)
	}

	// Both streams go to their own buffer and, interleaved, to the buffer the error message quotes.
	var outBuf, errBuf bytes.Buffer
	var combined lockedBuffer
	outWriters, errWriters := []io.Writer{&outBuf, &combined}, []io.Writer{&errBuf, &combined}
	// One line buffer per stream, so a line of one is never glued to a partial line of the other.
	outLog, errLog := &lineWriter{emit: log}, &lineWriter{emit: log}
	if log != nil && in.logStdout {
		outWriters = append(outWriters, outLog)
	}
	if log != nil && in.logStderr {
		errWriters = append(errWriters, errLog)
	}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(outWriters...), io.MultiWriter(errWriters...)

	err = cmd.Run()
	outLog.flush()
	errLog.flush()
	if err != nil {
		// v1.2.1's message: the exit status, the command, and everything it printed (whatever
		// `logging` says).
		return "", "", fmt.Errorf("%w: running %q:\n%s", err, command, combined.buf.String())
	}
	return strings.TrimSuffix(outBuf.String(), "\n"), strings.TrimSuffix(errBuf.String(), "\n"), nil
}

// lockedBuffer serialises the writes of the two copying goroutines of exec.Cmd.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lineWriter hands complete lines (without their line ending) to emit; flush emits the rest.
// exec.Cmd copies each stream in one goroutine, so emit may be called from two at once.
type lineWriter struct {
	mu      sync.Mutex
	pending []byte
	emit    func(string)
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, p...)
	for {
		i := bytes.IndexByte(l.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.emit(strings.TrimSuffix(string(l.pending[:i]), "\r"))
		l.pending = l.pending[i+1:]
	}
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) > 0 {
		l.emit(string(l.pending))
		l.pending = nil
	}
}
