#!/usr/bin/env node
// The CLI is written in TypeScript; tsx compiles it on the fly so no build step stands between
// `npm install` and `npx neurino`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
