import { ConfkubeError } from '../lib/errors.js';

/** A host file the agent reads has a shape it does not understand (what and where in the message). */
export class HostFormatError extends ConfkubeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERR_NODE_HOST_FORMAT', message, details);
  }
}

/** The kubelet refused or could not take a device plugin registration. */
export class RegistrationError extends ConfkubeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERR_NODE_PLUGIN_REGISTRATION', message, details);
  }
}

/** The agent's configuration (flags, environment) is unusable. */
export class AgentConfigError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_NODE_AGENT_CONFIG', message);
  }
}

export { QuantityError } from '../kube/errors.js';
