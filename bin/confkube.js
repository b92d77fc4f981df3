#!/usr/bin/env node
// The built CLI (npm install runs the build through `prepare`).
import '../dist/cli/main.js';
