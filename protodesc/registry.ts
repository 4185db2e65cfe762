// An index over FileDescriptorProtos: files by name, every declared symbol by full name, and
// extensions by extended message and number (protobuf-go: reflect/protoregistry).

import type {
  DescriptorProto,
  FieldDescriptorProto,
  FileDescriptorProto,
} from "./descriptor_proto.ts";

/** Full names without a leading dot, as reflection requests spell them. */
export class DescriptorRegistry {
  readonly #files = new Map<string, FileDescriptorProto>();
  readonly #symbols = new Map<string, FileDescriptorProto>();
  // extendee full name → extension number → the declaring file
  readonly #extensions = new Map<string, Map<number, FileDescriptorProto>>();

  /** Adds files; a file whose name is already present is skipped (the first one wins). */
  add(files: Iterable<FileDescriptorProto>): void {
    for (const file of files) {
      if (this.#files.has(file.name)) continue;
      this.#files.set(file.name, file);
      const scope = file.package ? `${file.package}.` : "";
      for (const m of file.message_type) this.#message(file, scope, m);
      for (const e of file.enum_type) {
        this.#symbol(file, scope + e.name);
        for (const v of e.value) this.#symbol(file, scope + v.name); // values are siblings
      }
      for (const s of file.service) {
        this.#symbol(file, scope + s.name);
        for (const m of s.method) this.#symbol(file, `${scope}${s.name}.${m.name}`);
      }
      for (const x of file.extension) this.#extension(file, scope, x);
    }
  }

  /** The file named `name`. */
  file(name: string): FileDescriptorProto | undefined {
    return this.#files.get(name);
  }

  /** The file declaring `symbol` (a message, field, oneof, enum, enum value, service, method or
   * extension). */
  fileContainingSymbol(symbol: string): FileDescriptorProto | undefined {
    return this.#symbols.get(symbol);
  }

  /** The file declaring extension `number` of message `extendee`. */
  fileContainingExtension(extendee: string, number: number): FileDescriptorProto | undefined {
    return this.#extensions.get(extendee)?.get(number);
  }

  /** The extension numbers of `extendee`, ascending, or `undefined` if no such message. */
  extensionNumbers(extendee: string): number[] | undefined {
    const numbers = [...(this.#extensions.get(extendee)?.keys() ?? [])].sort((a, b) => a - b);
    if (numbers.length === 0 && this.#symbols.get(extendee) === undefined) return undefined;
    return numbers;
  }

  #symbol(file: FileDescriptorProto, name: string): void {
    if (!this.#symbols.has(name)) this.#symbols.set(name, file);
  }

  #message(file: FileDescriptorProto, scope: string, m: DescriptorProto): void {
    const name = scope + m.name;
    this.#symbol(file, name);
    for (const f of m.field) this.#symbol(file, `${name}.${f.name}`);
    for (const o of m.oneof_decl) this.#symbol(file, `${name}.${o.name}`);
    for (const n of m.nested_type) this.#message(file, `${name}.`, n);
    for (const e of m.enum_type) {
      this.#symbol(file, `${name}.${e.name}`);
      for (const v of e.value) this.#symbol(file, `${name}.${v.name}`);
    }
    for (const x of m.extension) this.#extension(file, `${name}.`, x);
  }

  #extension(file: FileDescriptorProto, scope: string, x: FieldDescriptorProto): void {
    this.#symbol(file, scope + x.name);
    const extendee = (x.extendee ?? "").replace(/^\./, "");
    let byNumber = this.#extensions.get(extendee);
    if (byNumber === undefined) this.#extensions.set(extendee, byNumber = new Map());
    if (!byNumber.has(x.number)) byNumber.set(x.number, file);
  }
}
