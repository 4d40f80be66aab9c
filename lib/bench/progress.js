'use strict';

// A bench run's progress, on the stream it goes to (stderr). On a terminal, one status line
// rewritten in place (carriage return, then erase to the end of the line), so a run of a hundred
// turns leaves one line and the messages that matter; piped or redirected to a file, one plain
// line per step, which a log reads as a list (no control characters in it).

// Carriage return, then ANSI "erase in line" (CSI K): the cursor is back at column 1 of an empty line.
const CLEAR_LINE = '\r\x1b[K';

/**
 * @param stream a writable stream; `isTTY` and `columns` decide how the status is shown
 * @returns {{ status(text): void, log(text): void, end(): void }}
 *   status: the current step (replaces the last one on a terminal);
 *   log: a line that stays (a failure, a result), printed above the status;
 *   end: erases a status still on the screen, before the run's last lines.
 */
function createProgress(stream) {
  const inPlace = Boolean(stream.isTTY);
  let showing = false; // a status line is on the screen, not ended with a newline
  const clear = () => {
    if (showing) stream.write(CLEAR_LINE);
    showing = false;
  };
  return {
    status(text) {
      if (!inPlace) {
        stream.write(`${text}\n`);
        return;
      }
      // Longer than the terminal is wide, the line would wrap, and the carriage return would then
      // rewrite only its last row: cut it to the width.
      const room = Math.max(10, (stream.columns || 80) - 1);
      stream.write(`${CLEAR_LINE}${text.length > room ? text.slice(0, room) : text}`);
      showing = true;
    },
    log(text) {
      clear();
      stream.write(`${text}\n`);
    },
    end: clear,
  };
}

module.exports = { createProgress, CLEAR_LINE };
