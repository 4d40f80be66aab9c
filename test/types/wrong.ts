// The control for test/types.test.js: plain wrong usage with no @ts-expect-error, which tsc must
// reject (proves the type check really runs on these fixtures and sees turbo-dgram's types).

import * as turbo from 'turbo-dgram';

const s = turbo.createSocket('udp5');
const port: string = turbo.createSocket('udp4').address().port;
