import { defineAuthJsSuite } from '../lib/authjs-suite.mjs';

defineAuthJsSuite('8');
