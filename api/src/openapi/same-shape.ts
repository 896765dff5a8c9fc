/**
 * Compile-time proof that a schema class (what the OpenAPI document says) and the type a service
 * returns have exactly the same fields, nested included: a field added to one and not the other,
 * a field made optional or nullable on one side only, or a narrower or wider type fails to compile.
 */
type Norm<T> = T extends Date
  ? Date
  : T extends readonly (infer U)[]
    ? Norm<U>[]
    : T extends object
      ? { [K in keyof T]: Norm<T[K]> }
      : T;

export type Same<A, B> = (<T>() => T extends Norm<A> ? 1 : 2) extends <T>() => T extends Norm<B> ? 1 : 2 ? true : false;

/** `sameShape<ServiceType, SchemaClass>()`: does not compile unless both have exactly the same fields. */
export function sameShape<A, B>(
  ..._proof: Same<A, B> extends true ? [] : [schemaDiffersFromServiceType: never]
): void {}

/** Every member of a string union, for a schema's `enum`: `valuesOf<Compliance>({ unknown: true, … })` fails to compile when one is missing. */
export function valuesOf<T extends string>(members: Record<T, true>): T[] {
  return Object.keys(members) as T[];
}
