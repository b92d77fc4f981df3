export { startPostgres, postgresBinDir, type TestPostgres } from '../../support/postgres.js';
