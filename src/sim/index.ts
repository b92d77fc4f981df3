export * from './errors.js';
export {
  createPlatform,
  resolveOptions,
  SIM_ROOT_SUBJECT_CN,
  SIM_NAMES,
  SIM_FMSPC,
  SIM_PCE_ID,
  SIM_QE_MRSIGNER,
  SIM_QE_MRENCLAVE,
  SIM_TCB_EVALUATION_DATA_NUMBER,
  type SimPlatform,
  type SimPlatformOptions,
  type ResolvedSimOptions,
  type SimQuoteRequest,
  type SimExpected,
  type SimCertificates,
  type SimCollateral,
} from './platform.js';
export { SIM_TCB_STATUSES, SIM_TCB_LEVELS, SIM_QE_LEVELS, converge } from './scenarios.js';
export { encodeReportBody, type ReportFields } from './report.js';
export { writePlatform, loadPlatform, PLATFORM_FILE } from './platform-dir.js';
export { simulatedPcs, type SimPckCertsAnswer } from './pcs.js';
export { serveAttestationDir, type AttestationDirServer, type AttestationDirEnclave } from './attestation-dir.js';
