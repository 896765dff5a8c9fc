import { groupId } from './group-key';

describe('groupId', () => {
  it('names the plain group after the ministry and is stable whatever the order of the apps', () => {
    expect(groupId('interieur', [])).toBe('interieur');
    expect(groupId('interieur', ['x', 'zoom'])).toBe(groupId('interieur', ['zoom', 'x', 'x']));
    expect(groupId('interieur', ['x'])).toMatch(/^interieur--[0-9a-f]{12}$/);
  });
  it('tells ministries and app sets apart', () => {
    expect(groupId('interieur', ['x'])).not.toBe(groupId('culture', ['x']));
    expect(groupId('interieur', ['x'])).not.toBe(groupId('interieur', ['zoom']));
  });
  it('is a valid Android Management API policy id (letters, digits, - . _ ~, under 64)', () => {
    expect(groupId('economie', ['a', 'b', 'c'])).toMatch(/^[A-Za-z0-9._~-]{1,63}$/);
  });
});
