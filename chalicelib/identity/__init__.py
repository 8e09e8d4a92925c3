"""Who is calling and what they may do: token verification (tokens), the permission
predicates (permissions) and the users and base URIs that hold the rights (access)."""
