'use strict'
// The native addon, loaded once for every facade file.
module.exports = require('../binding.js')
