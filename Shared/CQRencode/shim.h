// Debian's libqrencode-dev: QR code symbols for visitor passes.
#include <qrencode.h>
