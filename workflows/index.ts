/** Every workflow type the worker registers. */
export { engagementLifecycle } from './lifecycle';
export { transition } from './transition';
export { escalation } from './escalation';
export { governance } from './governance';
