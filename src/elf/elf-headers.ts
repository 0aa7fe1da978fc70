/** Raw section and program headers of a 64-bit little-endian ELF file. */
import { fileOffset, linkAddr } from '../common/address.js';
import { ByteReader } from '../common/bytes.js';
import type { Segment } from './elf-file.js';

/** Size of one section header. */
export const SHDR_SIZE = 64;
/** Size of one program header. */
export const PHDR_SIZE = 56;

/** A section header before its name is resolved. */
export interface RawSection {
  nameOff: number;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

/** Reads `shnum` section headers from the bytes of the section header table. */
export function readSectionHeaders(table: Uint8Array, shnum: number): RawSection[] {
  const r = new ByteReader(table, 'section headers');
  const out: RawSection[] = [];
  for (let i = 0; i < shnum; i++) {
    r.seek(i * SHDR_SIZE);
    const nameOff = r.u32();
    const type = r.u32();
    const flags = r.u64();
    const a = r.u64();
    const offset = r.u64();
    const size = r.u64();
    const link = r.u32();
    const info = r.u32();
    const addralign = r.u64();
    const entsize = r.u64();
    out.push({ nameOff, type, flags, addr: a, offset, size, link, info, addralign, entsize });
  }
  return out;
}

/** Reads `phnum` program headers from the bytes of the program header table. */
export function readSegments(table: Uint8Array, phnum: number): Segment[] {
  const r = new ByteReader(table, 'program headers');
  const out: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    r.seek(i * PHDR_SIZE);
    const type = r.u32();
    const flags = r.u32();
    const offset = fileOffset(r.u64());
    const vaddr = linkAddr(r.u64());
    r.u64(); // paddr
    const filesz = r.u64();
    const memsz = r.u64();
    const align = r.u64();
    out.push({ index: i, type, flags, offset, vaddr, filesz, memsz, align });
  }
  return out;
}
