'use strict'
// The benchmark's items: a realistic user record of about 200 bytes, the same for every peer.
function item(i) {
  return {
    pk: `USER#${i}`,
    sk: 'PROFILE',
    name: `User number ${i}`,
    email: `user${i}@example.com`,
    age: 20 + (i % 50),
    active: i % 2 === 0,
    tags: ['a', 'b', 'c'],
    address: { city: 'Paris', zip: '75001' },
    score: i * 1.5,
  }
}
module.exports = { item }
