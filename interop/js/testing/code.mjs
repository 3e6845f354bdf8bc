// Shared by the unit tests: the error code a call fails with, or 'no error'.
export const code = (fn) => {
  try {
    fn();
  } catch (e) {
    return e.code;
  }
  return 'no error';
};
