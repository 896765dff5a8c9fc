import { PolicyCore1732370000000 } from './1732370000000-PolicyCore';

/** Every migration, in order; imported by the shared data source (app, CLI and tests alike). */
export const MIGRATIONS = [PolicyCore1732370000000];
