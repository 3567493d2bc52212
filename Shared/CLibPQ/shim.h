// Debian's libpq-dev: PostgreSQL's C client, used only where postgres-nio has no API (COPY TO STDOUT).
#include <libpq-fe.h>
