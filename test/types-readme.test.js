'use strict';

// The README's examples type-check as written, under --strict, against index.d.ts with each
// @types/node major a user may have (a project laid out as a user's: helpers/typescript.js).
//
// Which blocks: every fenced block whose language is js, cjs, mjs, ts, cts or mts (the README's
// examples of the API; commands and output are fenced as sh or plain). Each one is a module of
// its own, checked as that language (JavaScript with checkJs). A fragment may use `dgram` (the
// module), `socket` (a turbo-dgram socket) and `handle(msg, rinfo)` without defining them:
// CONTEXT declares them. An error is reported at its README line.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { REPO, TYPES_NODE, TSC_TIMEOUT_MS, checkProject } = require('./helpers/typescript');

const T = { timeout: TSC_TIMEOUT_MS + 30_000 };
const EXTENSIONS = { js: 'js', javascript: 'js', cjs: 'cjs', mjs: 'mjs', ts: 'ts', typescript: 'ts', cts: 'cts', mts: 'mts' };
const CONTEXT_FILE = 'readme-context.d.ts';
const CONTEXT = `// The names the README's fragments use without defining them.
declare const dgram: typeof import('turbo-dgram');
declare const socket: import('turbo-dgram').Socket;
declare function handle(msg: import('turbo-dgram').Message, rinfo: import('node:dgram').RemoteInfo): void;
`;

/**
 * The code blocks of a Markdown text: { line, language, code }, `line` the 1-based line of the
 * opening fence. A fence indented in a list item takes that indentation off its lines.
 */
function codeBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]);
    if (open === null) continue;
    const [, indent, fence, language] = open;
    const closing = new RegExp(`^ *${fence[0]}{${fence.length},}\\s*$`);
    const code = [];
    let j = i + 1;
    while (j < lines.length && !closing.test(lines[j])) {
      code.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
      j++;
    }
    blocks.push({ line: i + 1, language: language.toLowerCase(), code: `${code.join('\n')}\n` });
    i = j;
  }
  return blocks;
}

/** The blocks to check, each as a source file named after its line: `readme-L<line>.<ext>`. */
function exampleFiles(markdown) {
  const files = {};
  for (const { line, language, code } of codeBlocks(markdown)) {
    const extension = EXTENSIONS[language];
    if (extension !== undefined) files[`readme-L${line}.${extension}`] = code;
  }
  return files;
}

/** tsc on the examples of `markdown`; its errors name the Markdown file and line instead. */
async function checkExamples(markdown, name, typesNodeMajor) {
  const files = exampleFiles(markdown);
  const { code, output } = await checkProject(typesNodeMajor, { [CONTEXT_FILE]: CONTEXT, ...files });
  const located = output.replace(/^readme-L(\d+)\.\w+\((\d+),(\d+)\)/gm,
    (match, fence, line, column) => `${name}:${Number(fence) + Number(line)}:${column}`);
  return { examples: Object.keys(files).length, code, output: located };
}

const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

test('the README has examples to check', () => {
  assert.ok(Object.keys(exampleFiles(README)).length > 0, 'no js/ts code block found in README.md');
});

for (const major of Object.keys(TYPES_NODE).map(Number)) {
  test(`the README's examples compile under --strict with @types/node ${major}`, T, async () => {
    const { code, output } = await checkExamples(README, 'README.md', major);
    assert.strictEqual(output, '', `README.md's examples do not compile:\n${output}`);
    assert.strictEqual(code, 0);
  });
}

// The control: a wrong example fails, reported at its Markdown line, and blocks in other
// languages are left alone.
test('control: a wrong example fails at its line; sh and text blocks are not compiled', T, async () => {
  const markdown = [
    '# Example',                                            // 1
    '',                                                     // 2
    '```sh',                                                // 3
    'npm install turbo-dgram && this is not code',         // 4
    '```',                                                  // 5
    '',                                                     // 6
    '- in a list:',                                         // 7
    '  ```js',                                              // 8
    "  const dgram = require('turbo-dgram');",              // 9
    "  dgram.createSocket('udp5');",                        // 10
    '  ```',                                                // 11
    '```ts',                                                // 12
    "socket.on('message', (msg, rinfo) => rinfo.localAddress);",  // 13
    '```',                                                  // 14
    '```',                                                  // 15
    'plain text',                                           // 16
    '```',                                                  // 17
  ].join('\n');
  const { examples, code, output } = await checkExamples(markdown, 'EXAMPLE.md', 26);
  assert.strictEqual(examples, 2);
  assert.notStrictEqual(code, 0);
  const errors = output.split('\n').filter((line) => line.startsWith('EXAMPLE.md:')).sort();
  assert.deepStrictEqual(errors.map((line) => line.replace(/: error (TS\d+).*$/, ' $1')), [
    'EXAMPLE.md:10:20 TS2769',
    'EXAMPLE.md:13:44 TS2339',
  ], output);
});
