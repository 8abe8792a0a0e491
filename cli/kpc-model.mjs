#!/usr/bin/env node
// `kpc-model`: model-file tools (info, quantize). See docs/models.md.
import { launch } from './launch.mjs';

await launch('model');
