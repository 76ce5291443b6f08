/** Neural-network modules (PyTorch-compatible names and layouts). */
export { Module, Parameter } from './module';
