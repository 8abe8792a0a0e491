#!/usr/bin/env node
// `kpc-generate`: runs a GGUF model (or a procedural preset) and prints its continuation. See docs/models.md.
import { launch } from './launch.mjs';

await launch('generate');
