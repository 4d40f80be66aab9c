// `require('turbo-dgram/register')` (or `-r turbo-dgram/register`): see lib/register.js.

/** Whether the hook is on in this thread: false when TURBO_DGRAM=off (or 0 / false). */
export declare const active: boolean;
