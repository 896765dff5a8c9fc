import { DomainError, ErrorKind } from '../common/domain-error';

export class DirectoryError extends DomainError {
  readonly domain = 'directory';
  constructor(code: string, kind: ErrorKind, message: string) {
    super(code, kind, message);
  }
}
