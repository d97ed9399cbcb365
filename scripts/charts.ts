import { ASSOCIATION_MACHINE_VERSION, associationMachine } from '../machines/association.ts';
import { BATCH_MACHINE_VERSION, batchMachine } from '../machines/batch.ts';
import type { Chart } from './diagram.ts';

/** The machines drawn into visualizations/; a new machine is added here. */
export const charts: Chart[] = [
  { name: 'batch', source: 'machines/batch.ts', machine: batchMachine, version: BATCH_MACHINE_VERSION },
  {
    name: 'association',
    source: 'machines/association.ts',
    machine: associationMachine,
    version: ASSOCIATION_MACHINE_VERSION,
  },
];
