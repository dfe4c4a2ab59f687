"""web-app: the customers' pages (and, next, the managers' console), rendered on the server.

A client of the four services' REST APIs with the signed-in person's own credential: it keeps no business state
and reads no service's database. Anything a page needs that the API lacks is added to the API first."""

SERVICE_NAME = "web"
DEFAULT_PORT = 8080
