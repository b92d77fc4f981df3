export * from './errors.js';
export * from './report.js';
export * from './quote.js';
export * from './pck.js';
export * from './quote-json.js';
export * from './attributes.js';
